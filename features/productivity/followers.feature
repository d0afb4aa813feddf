Feature: Following a ticket
  A member of the staff follows the tickets they care about, and is mailed every reply and
  every internal note written on them, the customer's answers included. Whoever a ticket is
  assigned to follows it without asking, for as long as it is theirs. A colleague named in an
  internal note with an @ before their address, or before the part of it in front of the @,
  follows the ticket from then on. However many reasons someone has to hear of a message
  (they follow the ticket, it is theirs, the note names them), they are mailed it once. The
  author of a message is not mailed it, and the customer is never mailed a note.

  Leads bring colleagues in and take them off; an agent follows and unfollows for themselves
  only.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Lena is a lead in "Billing"
    And Dan is an agent in "Billing"
    And Mia is an agent in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"

  Scenario: A follower is told when the customer answers
    Given Mia follows "Charged twice"
    When Ann replies "It is invoice 1042." to "Charged twice"
    Then only Mia is mailed "It is invoice 1042.", once

  Scenario: The assignee follows the ticket without asking
    When Lena assigns "Charged twice" to Dan
    Then Dan is mailed that "Charged twice" is assigned to him
    And the followers of "Charged twice" are "Dan (assignee)"
    When Ann replies "Any news?" to "Charged twice"
    Then only Dan is mailed "Any news?", once

  Scenario: A mention in an internal note makes a follower
    When Dan leaves the internal note "@mia is the batch job billing twice?" on "Charged twice"
    Then the followers of "Charged twice" are "Mia (follower)"
    And only Mia is mailed "is the batch job billing twice?", once

  Scenario: One mail per person, whatever the reasons
    Dan is the assignee, follows the ticket himself, and the note names him: one mail.

    When Lena assigns "Charged twice" to Dan
    And Dan follows "Charged twice"
    Then Dan is mailed that "Charged twice" is assigned to him
    When Lena leaves the internal note "@dan please refund the second charge" on "Charged twice"
    Then only Dan is mailed "please refund the second charge", once

  Scenario: Someone who stops following is told nothing more
    Given Mia follows "Charged twice"
    When Mia unfollows "Charged twice"
    And Ann replies "Hello?" to "Charged twice"
    Then nobody is mailed
    And nobody follows "Charged twice"

  Scenario: A lead brings a colleague in; an agent cannot
    When Lena makes Mia follow "Charged twice"
    Then the followers of "Charged twice" are "Mia (follower)"
    When Dan tries to make Mia unfollow "Charged twice"
    Then Dan is told only leads and administrators may do that
    And the followers of "Charged twice" are "Mia (follower)"
