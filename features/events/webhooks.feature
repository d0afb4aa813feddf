Feature: Telling other systems what happens, by webhook
  An administrator subscribes an endpoint of another system (a CRM, a chat, a data
  warehouse) to the kinds of events it cares about, such as "ticket.created". The helpdesk
  then POSTs each such event to the endpoint, signed as the Standard Webhooks specification
  says with a secret that the administrator is shown once, when subscribing, and never again.
  What customers must not read, the text of an internal note, is never sent.

  An endpoint that fails is tried again, each time waiting twice as long; in these stories the
  helpdesk waits about a minute, then about two, and tries a delivery 3 times in all. After 3
  failed attempts in a row the endpoint is disabled until an administrator enables it again.
  Every attempt is kept in the endpoint's deliveries, for the administrator to read.

  A webhook may not reach into the helpdesk's own network: addresses such as 127.0.0.1, a
  private network or the cloud's metadata service are refused. Only administrators manage
  webhooks.

  Background:
    Given a helpdesk that sends webhooks
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered

  Scenario: An administrator subscribes an endpoint and is shown its secret once
    When the administrator subscribes an endpoint to "ticket.created, ticket.closed"
    Then the administrator is shown the secret that signs its deliveries
    And the webhooks list shows the endpoint subscribed to "ticket.created, ticket.closed"
    But neither the webhooks list nor the endpoint's page shows the secret

  Scenario: The endpoint hears of a new ticket, signed
    Given the administrator has subscribed an endpoint to "ticket.created"
    When Ann opens a ticket "Charged twice" for "Billing"
    Then the endpoint receives "ticket.created" for "Charged twice"
    And the delivery is signed with the endpoint's secret

  Scenario: The endpoint hears of a ticket as the API shows it
    Given the administrator has subscribed an endpoint to "ticket.created"
    When Ann opens a ticket "Charged twice" for "Billing"
    Then the endpoint receives "ticket.created" for "Charged twice"
    And the delivery's ticket is the ticket the staff API shows, without its description
    And the delivery's ticket names its requester "Ann" and its department "Billing"

  Scenario: Events the endpoint did not subscribe to are not sent
    Given the administrator has subscribed an endpoint to "ticket.closed"
    When Ann opens a ticket "Charged twice" for "Billing"
    And Dan replies "We have refunded the second charge." to "Charged twice"
    Then the endpoint receives nothing
    When Ann closes "Charged twice"
    Then the endpoint receives "ticket.closed" for "Charged twice"

  Scenario: An internal note is announced without its text
    Given the administrator has subscribed an endpoint to "ticket.message_added"
    And Ann has opened a ticket "Charged twice" for "Billing"
    When Dan leaves the internal note "Double-billed by the nightly batch job." on "Charged twice"
    Then the endpoint receives "ticket.message_added" for "Charged twice"
    And the delivery announces an internal note without its text
    And nothing the endpoint received mentions "nightly batch job"

  Scenario: A failing endpoint is tried again, then disabled
    Given the administrator has subscribed an endpoint to "ticket.created"
    And the endpoint fails every delivery with HTTP 503
    When Ann opens a ticket "Charged twice" for "Billing"
    And 10 minutes go by
    Then the endpoint was tried 3 times, each retry waiting about twice as long as the one before
    And the endpoint is disabled after 3 failed attempts in a row
    And the deliveries of the endpoint show every attempt:
      | event          | delivery | attempt | outcome    | status code |
      | ticket.created | failed   | 1       | http_error | 503         |
      | ticket.created | failed   | 2       | http_error | 503         |
      | ticket.created | failed   | 3       | http_error | 503         |
    When Ann opens a ticket "Printer on fire" for "Billing"
    And 10 minutes go by
    Then the endpoint receives nothing

  Scenario: An administrator enables a disabled endpoint again
    Given the administrator has subscribed an endpoint to "ticket.created"
    And the endpoint has been disabled after failing 3 times in a row
    When the endpoint answers again
    And the administrator enables the endpoint again
    Then the endpoint is active, with no failures counted
    When Ann opens a ticket "Printer on fire" for "Billing"
    Then the endpoint receives "ticket.created" for "Printer on fire"

  Scenario: A ping tests the endpoint
    Given the administrator has subscribed an endpoint to "ticket.closed"
    When the administrator pings the endpoint
    Then the endpoint receives a ping
    And the delivery is signed with the endpoint's secret
    And the deliveries of the endpoint show every attempt:
      | event        | delivery  | attempt | outcome | status code |
      | webhook.ping | delivered | 1       | success | 200         |

  Scenario Outline: An endpoint inside the helpdesk's own network is refused
    When the administrator tries to subscribe "<url>" to every event
    Then the administrator is told <address> is refused, being <reason>
    And no endpoint is subscribed

    Examples:
      | url                           | address         | reason                     |
      | http://127.0.0.1/hook         | 127.0.0.1       | a loopback address         |
      | http://10.0.0.1/crm           | 10.0.0.1        | a private address          |
      | http://169.254.169.254/latest | 169.254.169.254 | the cloud metadata address |

  Scenario: Customers, agents and leads cannot manage webhooks
    Given Lena is a lead in "Billing"
    And the administrator has subscribed an endpoint to "ticket.created"
    When Ann tries to list the webhooks
    Then Ann is told only administrators may do that
    When Dan tries to subscribe an endpoint to "ticket.created"
    Then Dan is told only administrators may do that
    When Lena tries to ping the endpoint
    Then Lena is told only administrators may do that
    When Lena tries to disable the endpoint
    Then Lena is told only administrators may do that
    And the endpoint is active, with no failures counted
    And the endpoint receives nothing
