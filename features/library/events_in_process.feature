Feature: Events handed to the host program's own functions
  Whatever happens to a ticket is recorded as an event (`ticket.created`,
  `ticket.message_added`, ...), the same events a webhook endpoint receives. The shop
  subscribes a function of its own with
  `desk.subscribe(["ticket.created", "ticket.message_added"], record, name="record")`; the
  function is called with each `helpdesk.Event`, whose `data` is the document the webhook would
  carry.

  Nothing is handed over while the ticket is being written: the events wait until the shop
  calls `desk.process_events()` (or runs `desk.start_event_thread()`), so a slow or broken
  subscriber never slows down or breaks the call that opened the ticket. A ticket's events
  arrive in the order they happened, at least once. A function that raises is tried again
  after a pause that doubles each time, like a webhook endpoint that fails, and holds up no
  other subscriber. The name keeps the subscription across restarts of the program.

  Background:
    Given the shop has opened a helpdesk in memory that retries a failed delivery after 0.05 seconds
    And the shop has set up the department "Orders"
    And the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
      | staff-7 | Bob  | bob@example.com | agent    | Orders     |
    And the shop has subscribed its function "record" to "ticket.created" and "ticket.message_added"

  Scenario: A subscriber receives a ticket's events in order, once the shop hands them over
    When the shop, acting as Ann, opens the ticket "Parcel never arrived" in "Orders"
    And the shop, acting as Bob, answers "Parcel never arrived" with "A new parcel is on its way."
    Then "record" has received nothing yet
    When the shop processes the events
    Then "record" has received, in this order:
      | event                | ticket               |
      | ticket.created       | Parcel never arrived |
      | ticket.message_added | Parcel never arrived |
    And processing the events again hands "record" nothing more

  Scenario: A subscriber that raises is tried again later and holds up nobody else
    Given the shop has subscribed its function "courier", which raises "the courier service is down" until it is mended, to "ticket.created" and "ticket.message_added"
    When the shop, acting as Ann, opens the ticket "Parcel never arrived" in "Orders"
    And the shop, acting as Bob, answers "Parcel never arrived" with "A new parcel is on its way."
    And the shop processes the events
    Then "record" has received, in this order:
      | event                | ticket               |
      | ticket.created       | Parcel never arrived |
      | ticket.message_added | Parcel never arrived |
    And "courier" has received nothing yet
    And the helpdesk has recorded that "courier" raised "RuntimeError: the courier service is down" and will try again
    When the shop mends "courier" and processes the events once the retry is due
    Then "courier" has received, in this order:
      | event                | ticket               |
      | ticket.created       | Parcel never arrived |
      | ticket.message_added | Parcel never arrived |
