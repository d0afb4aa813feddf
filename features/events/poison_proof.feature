Feature: One bad mail or delivery never stalls the others
  The helpdesk's worker mails people and calls webhooks in the background. Whatever goes wrong
  with one mail or one delivery (a mail server that is down, a webhook address no request can
  carry, a sender that breaks down) is recorded against that mail or delivery alone, with the
  error, and everything else goes on.

  A mail that fails does not keep its event from the webhooks. The mail is tried again later,
  and the ticket's next events wait for it, so that people hear of a ticket's changes in the
  order they happened; a mail that can never be built is given up at once instead, and the
  ticket's events go on. In these stories the helpdesk tries again after about a minute.

  Background:
    Given a helpdesk that sends webhooks
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered

  Scenario: The endpoint hears of a reply while the mail server is down
    Given the administrator has subscribed an endpoint to "ticket.message_added"
    And Ann has opened a ticket "Charged twice" for "Billing"
    And the mail server is down
    When Dan replies "We have refunded the second charge." to "Charged twice"
    Then the endpoint receives "ticket.message_added" for "Charged twice"
    And nobody is mailed
    When the mail server is back
    And 10 minutes go by
    Then Ann is mailed the reply "We have refunded the second charge." on "Charged twice"

  Scenario: An endpoint whose sending breaks down does not hold the others
    Given the administrator has subscribed an endpoint to "ticket.created"
    And a second endpoint subscribed to "ticket.created" breaks the sender every time
    When Ann opens a ticket "Charged twice" for "Billing"
    Then the endpoint receives "ticket.created" for "Charged twice"
    And the second endpoint's delivery shows a failed attempt saying "the sender broke down"
