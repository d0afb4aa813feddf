Feature: Reading tickets from the terminal
  The operator can read any ticket of any department from the terminal, internal notes
  included, without logging in to the web. `helpdesk tickets show` prints a ticket: its
  fields, its description, the conversation and the history of its changes;
  `helpdesk tickets history` prints only the history. A ticket is named by the number the
  tables print (`1`, or `'#1'`) or by its id. With `--json`, both print what the web API
  answers the staff.

  Background:
    Given a database the operator has migrated
    And the operator has created the administrator "root@example.com"
    And the operator has added the department "Billing" with the agent "Ann" whose email is "ann@example.com"
    And Carol has written in to "Billing" on the web about "My invoice is wrong"
    And Ann has answered "Could you send us the invoice number?" on the web
    And Ann has left the internal note "Probably the VAT bug again" on the web

  Scenario: The operator reads a ticket by its number
    When the operator runs "helpdesk tickets show #1"
    Then the command shows the ticket "#1  My invoice is wrong" with:
      | status     | open                      |
      | priority   | normal                    |
      | requester  | Carol <carol@example.com> |
      | department | Billing                   |
    And the conversation reads:
      | from | says                                  | internal |
      | Ann  | Could you send us the invoice number? | no       |
      | Ann  | Probably the VAT bug again            | yes      |

  Scenario: The operator reads what happened to a ticket
    When the operator runs "helpdesk tickets history 1"
    Then the history reads:
      | by    | change                 |
      | Carol | ticket created         |
      | Ann   | replied                |
      | Ann   | status: new -> open    |
      | Ann   | added an internal note |

  Scenario: A ticket in JSON is what the web API shows the staff
    When the operator runs "helpdesk tickets show 1 --json"
    Then the command prints the ticket as the web API shows it to the administrator
    And the JSON shows the ticket number 1, open, in the department "Billing"

  Scenario Outline: What names no ticket is refused
    When the operator tries "helpdesk tickets show <ticket>"
    Then the command stops with exit status <status> and one line that says "<cause>"
    And nothing in the database has changed

    Examples:
      | ticket | status | cause                                             |
      | 99     | 1      | no such ticket: #99                               |
      | five   | 2      | 'five' is neither a ticket id nor a ticket number |
