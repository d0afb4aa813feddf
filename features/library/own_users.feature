Feature: Acting as the host program's own users
  A program that embeds the helpdesk (here, an online shop) already knows its users: it signs
  them in itself and names each by an id of its own, such as "user-42". It does not register
  them with the helpdesk, and nobody chooses a password for them.

  `desk.ensure_customer("user-42", "ann@example.com", "Ann")` finds the helpdesk account the
  shop's id names, or makes it the first time; every later call returns the same account and
  brings its email and name up to date, so the shop can simply call it whenever a user shows
  up. `desk.ensure_staff(...)` does the same for staff, with a role and a department the first
  time. `desk.as_user(account)` then acts as that user: it may do exactly what the account
  may do over the REST API, and see exactly what it would see there.

  An account made this way has no password, so nobody can log in as it over the API: every
  password is refused, an empty one and "!none" (the text the helpdesk keeps in place of a
  password hash) included. Only the program that made it can act as it.

  Acting as a user is held to that user's scope, as the API is. Another customer's ticket, or
  a ticket of another department, is `helpdesk.NotFound` in the very words a made-up id gets,
  so nobody learns that it exists. What a role may not do at all (a customer administering
  the helpdesk) is `helpdesk.PermissionDenied`, before anything is looked up.

  Background:
    Given the shop has opened a helpdesk in memory
    And the shop has set up the departments "Orders" and "Returns"

  Scenario: The first call makes the customer, every later call finds the same one
    When the shop ensures its customer "user-42", Ann, with the email "ann@example.com"
    And the shop ensures its customer "user-42", Ann, with the email "ann@example.com"
    Then both calls gave the shop the same account
    And the helpdesk has exactly one customer

  Scenario: A customer's new email and name reach the helpdesk on the next call
    When the shop ensures its customer "user-42", Ann, with the email "ann@example.com"
    And the shop ensures its customer "user-42", Ann Lee, with the email "ann.lee@example.com"
    Then both calls gave the shop the same account
    And the shop's customer "user-42" is now Ann Lee <ann.lee@example.com>

  Scenario: Later calls bring a staff member's name and email up to date, not their role or department
    When the shop ensures its agent "staff-7", Bob, with the email "bob@example.com", in "Orders"
    And the shop ensures its lead "staff-7", Robert, with the email "robert@example.com", in "Returns"
    Then both calls gave the shop the same account
    And the shop's staff member "staff-7" is now Robert <robert@example.com>, an agent in "Orders"

  Scenario Outline: Nobody can log in over the API as an account the shop made
    Given the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
      | staff-7 | Bob  | bob@example.com | agent    | Orders     |
    When somebody tries the password "<password>" for "<email>"
    Then the login is refused exactly as for an email nobody uses

    Examples:
      | email           | password                       |
      | ann@example.com | CANARY Ann's guessable secret  |
      | ann@example.com |                                |
      | bob@example.com | !none                          |
      | bob@example.com | CANARY Bob's guessable secret  |

  Scenario: The shop's customer opens a ticket and its agent answers it
    Given the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
      | staff-7 | Bob  | bob@example.com | agent    | Orders     |
    When the shop, acting as Ann, opens the ticket "Parcel never arrived" in "Orders"
    And the shop, acting as Bob, answers "Parcel never arrived" with "A new parcel is on its way."
    Then the shop, acting as Ann, sees "Parcel never arrived" open, with this conversation:
      | from | says                        |
      | Bob  | A new parcel is on its way. |

  Scenario Outline: A ticket outside someone's scope does not exist for them
    Given the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
      | user-43 | Bea  | bea@example.com | customer |            |
      | staff-7 | Bob  | bob@example.com | agent    | Orders     |
      | staff-9 | Eve  | eve@example.com | agent    | Returns    |
    And the shop, acting as Ann, has opened the ticket "Parcel never arrived" in "Orders"
    When the shop, acting as <who>, looks up "Parcel never arrived"
    Then the helpdesk answers that there is no such ticket, as it does for a made-up id
    But the shop, acting as Bob, finds "Parcel never arrived"

    Examples:
      | who | (who they are)         |
      | Bea | another customer       |
      | Eve | an agent of "Returns"  |

  Scenario: A customer cannot administer the helpdesk
    Given the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
    Then the shop, acting as Ann, is refused every one of these administrator's tasks:
      | task                     |
      | list the departments     |
      | create a department      |
      | list the customers       |
      | list the staff           |
      | list the webhooks        |
      | make another customer    |
