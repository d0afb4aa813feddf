Feature: The helpdesk command says why it cannot reach the database
  An operator who runs a helpdesk command against a database it cannot use gets one line
  that names the cause (nothing listening, no such database, a login the server refuses)
  instead of a traceback, so the fix is plain from the message alone. The line never shows
  the password of the database address.

  Scenario Outline: A command against a database it cannot use
    Given the database address points at <what>
    When the operator runs "helpdesk <command>"
    Then the command fails with one line that says "<cause>"
    And the line does not show the password
    And no traceback is printed

    Examples:
      | what                                  | command    | cause                 |
      | a port where nothing listens          | staff list | connection refused    |
      | a port where nothing listens          | db upgrade | connection refused    |
      | a database that does not exist        | db check   | unknown database      |
      | a user the database server refuses    | staff list | authentication failed |

  Scenario: A staff member's missing department is named as the command's option
    Given a migrated helpdesk database with the department "Billing"
    When the operator adds an agent without saying which department
    Then the command fails with one line that says "--department: an agent needs a department"
