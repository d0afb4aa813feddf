Feature: Canned responses
  Agents answer the same questions all day. A canned response is a reply kept for reuse, with
  placeholders the helpdesk fills in for the ticket at hand: the customer's first name, the
  agent's signature, the ticket's number. A value that is missing takes the default the
  response names, so a customer never reads a raw placeholder. Filling a response in gives the
  agent a draft to read and send; nothing reaches the customer by itself. A placeholder the
  helpdesk does not know is refused when the response is saved, not discovered in a reply.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"

  Scenario: The customer's name is filled in, and a missing signature takes its default
    Given Dan keeps the canned response "Greeting":
      """
      Hi {{ customer.first_name | default("there") }},

      {{ agent.signature | default("The Billing team") }}
      """
    When Dan fills in "Greeting" for "Charged twice"
    Then the draft reads:
      """
      Hi Ann,

      The Billing team
      """
    And nothing was left out of the draft
    And nobody has replied to "Charged twice"

  Scenario: Once the agent signs their replies, the signature is used
    Given Dan signs his replies "Dan, Billing"
    And Dan keeps the canned response "Greeting":
      """
      Hi {{ customer.first_name | default("there") }},

      {{ agent.signature | default("The Billing team") }}
      """
    When Dan fills in "Greeting" for "Charged twice"
    Then the draft reads:
      """
      Hi Ann,

      Dan, Billing
      """

  Scenario: A value without a default is left empty, and the draft says so
    Given Dan keeps the canned response "Sign-off":
      """
      Thanks for your patience. [{{ agent.signature }}]
      """
    When Dan fills in "Sign-off" for "Charged twice"
    Then the draft reads:
      """
      Thanks for your patience. []
      """
    And the draft names "agent.signature" as left out

  Scenario: A response naming a placeholder the helpdesk does not know is refused
    When Dan tries to keep the canned response "Call me" saying "Call me on {{ customer.phone }}"
    Then Dan is told the response names the unknown placeholder "customer.phone"
    And Dan has no canned responses

  Scenario: A personal response is its owner's alone
    Given Eve is an agent in "Billing"
    And Dan keeps the canned response "Greeting":
      """
      Hi {{ customer.first_name }}
      """
    Then Eve cannot find the canned response "Greeting"

  Scenario: Every use of a response for everyone is counted
    Given the administrator keeps the canned response "Thanks" for everyone:
      """
      Thank you for ticket #{{ ticket.number }}.
      """
    When Dan fills in "Thanks" for "Charged twice"
    And Dan fills in "Thanks" for "Charged twice"
    Then "Thanks" has been used 2 times
