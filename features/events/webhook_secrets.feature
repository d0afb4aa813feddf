Feature: Webhook secrets kept safe, and old deliveries forgotten
  The secret that signs an endpoint's deliveries is shown to the administrator once. The
  helpdesk keeps it encrypted with its own secret keys, so whoever reads the database does
  not learn it. An administrator can give an endpoint a new secret at any time: it is shown
  once, and from then on every delivery is signed with it.

  Events and deliveries that are done with are kept for a while, for the administrator to
  look into, and then forgotten: in these stories after 30 days. A delivery still waiting
  to be retried is never forgotten.

  Background:
    Given a helpdesk that sends webhooks
    And the department "Billing"
    And Ann has registered

  Scenario: The secret is not kept readable
    When the administrator subscribes an endpoint to "ticket.created"
    Then the administrator is shown the secret that signs its deliveries
    But the helpdesk's store does not hold that secret readable

  Scenario: An administrator gives an endpoint a new secret
    Given the administrator has subscribed an endpoint to "ticket.created"
    When the administrator gives the endpoint a new secret
    Then the administrator is shown a new secret, unlike the old one
    When Ann opens a ticket "Charged twice" for "Billing"
    Then the endpoint receives "ticket.created" for "Charged twice"
    And the delivery is signed with the endpoint's secret
    But the old secret no longer verifies it

  Scenario: Finished deliveries are forgotten after the retention period
    Given the administrator has subscribed an endpoint to "ticket.created"
    And Ann has opened a ticket "Charged twice" for "Billing"
    And the endpoint has received "ticket.created"
    When 29 days go by
    Then the deliveries of the endpoint still show 1 delivery
    When 2 more days go by
    Then the deliveries of the endpoint show none

  Scenario: A delivery still being retried is kept however old
    Given the administrator has subscribed an endpoint to "ticket.created"
    And the endpoint fails every delivery with HTTP 503
    And Ann has opened a ticket "Charged twice" for "Billing"
    When 40 days go by
    Then the deliveries of the endpoint still show 1 delivery
