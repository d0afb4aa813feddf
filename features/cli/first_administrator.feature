Feature: Creating the first administrator from the terminal
  A new helpdesk has nobody who can log in to it. Whoever runs the server creates the first
  administrator with `helpdesk admin create`; from then on that administrator can run the
  helpdesk from the web as well. A script gives the password on standard input
  (`--password-stdin`), so it never shows in the shell's history or the list of running
  processes, and the command never prints it. The password must follow the same rules as
  every other password of the helpdesk.

  Background:
    Given a database the operator has migrated

  Scenario: The first administrator can log in at once
    When the operator creates the administrator "Root" with the email "root@example.com", giving a good password on standard input
    Then the command says "created administrator root@example.com"
    And the command printed nothing of the password
    And "root@example.com" can log in to the web with that password, as an administrator
    And the staff list reads:
      | email            | role  | department | team |
      | root@example.com | admin | -          | -    |

  Scenario Outline: A password the helpdesk refuses creates nobody
    When the operator creates the administrator "Root" with the email "root@example.com", giving the password "<password>" on standard input
    Then the command stops with exit status <status> and one line that says "<cause>"
    And nothing in the database has changed

    Examples:
      | password           | status | cause                                        |
      | short              | 1      | password: must be at least 10 characters     |
      | root@example.com-1 | 1      | password: must not contain the email address |

  Scenario: No password on standard input is a mistake of the script
    When the operator creates the administrator "Root" with the email "root@example.com", giving nothing on standard input
    Then the command stops with exit status 2 and one line that says "--password-stdin: standard input is empty"
    And nothing in the database has changed
