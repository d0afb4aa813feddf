"""The email channel: mailboxes (``mailboxes``) and their IMAP settings (``imap_settings``);
receiving a message (``intake``: stored and acknowledged, processed later) by a pipe, a POST
or the IMAP poller (``polling``); processing it onto a ticket (``processing``, with the rules
about senders and text in ``senders``); and mailing staff replies back, threaded
(``outbound``)."""
