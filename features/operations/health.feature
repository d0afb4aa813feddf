Feature: Knowing whether the helpdesk can serve
  An operator, or the load balancer in front of the helpdesk, asks two questions:
  is the process alive, and can it serve requests right now? The second answer lists
  every dependency the helpdesk talks to and how each one answered. Anyone may ask, so the
  answer says how a dependency is, never where it is: no host, user or database name (those
  go to the helpdesk's log).

  Scenario: Everything the helpdesk needs is answering
    Given a running helpdesk whose database answers
    When the operator asks whether the helpdesk is ready
    Then the helpdesk says it is ready
    And the database is reported as "ok"
    And Redis is reported as "not_configured"

  Scenario: The database stops answering
    Given a running helpdesk whose database does not answer
    When the operator asks whether the helpdesk is ready
    Then the helpdesk says it is not ready
    And the database is reported as "down"
    But the answer names no database host, user or database
    And the helpdesk still says it is alive

  Scenario: Asking for something that does not exist
    Given a running helpdesk whose database answers
    When someone asks for a page the helpdesk does not have
    Then the answer is a problem report saying "Not Found"
