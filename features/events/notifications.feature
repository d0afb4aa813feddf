Feature: Mail to the people a ticket concerns
  The helpdesk mails people when something happens that they need to know about, and only
  then. A customer is mailed what the helpdesk replies to her and how her ticket moves on,
  but not what she did herself, and never the notes staff members leave for each other. An
  agent is mailed when a lead hands them a ticket, not when they take one themselves.
  Mail goes out in the background, a moment after the change, and names people as they
  are when it is sent.

  The link to reset a forgotten password comes by mail as well: "A forgotten password is
  reset with a link that works once", in identity/authentication.feature, tells that story.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Lena is a lead in "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"

  Scenario: The customer is mailed the helpdesk's reply, once
    The first reply also opens the new ticket; the reply's mail is all Ann receives.

    When Dan replies "We have refunded the second charge." to "Charged twice"
    Then Ann is mailed the reply "We have refunded the second charge." on "Charged twice"

  Scenario: An internal note is mailed to nobody
    When Dan leaves the internal note "Double-billed by the nightly batch job." on "Charged twice"
    Then nobody is mailed
    When Dan replies "We are looking into it." to "Charged twice"
    Then Ann is mailed the reply "We are looking into it." on "Charged twice"
    But no mail mentions "nightly batch job"

  Scenario: The customer is mailed the helpdesk's changes to her ticket, not her own
    Given Dan has looked at "Charged twice"
    When Dan sets the status of "Charged twice" to "pending"
    Then Ann is mailed that "Charged twice" is now pending
    When Ann replies "It is 1042." to "Charged twice"
    Then the ticket "Charged twice" is open
    But nobody is mailed
    When Ann closes "Charged twice"
    Then the ticket "Charged twice" is closed
    But nobody is mailed

  Scenario: An agent is mailed when a lead hands them a ticket
    When Lena assigns "Charged twice" to Dan
    Then Dan is mailed that "Charged twice" is assigned to him

  Scenario: Nobody is mailed when an agent takes a ticket
    When Dan takes "Charged twice"
    Then "Charged twice" is assigned to Dan
    But nobody is mailed
