Feature: Building the organization from the terminal
  The operator sets up how the helpdesk is organized: the departments customers choose
  from when they write in, the teams within a department, and the staff who work the
  tickets: agents and leads, who belong to a department, and administrators, who do not.
  Departments and teams are named by their names, in any case (`billing` finds "Billing"),
  and staff members by their email addresses.

  Every list prints a table for the eye or, with `--json`, the same documents the web API's
  administration answers with, for scripts.

  A change the helpdesk refuses prints one line naming the cause and exits with a non-zero
  status, and leaves everything as it was.

  Background:
    Given a database the operator has migrated
    And the operator has created the administrator "root@example.com"

  Scenario: Adding a department and a team in it
    When the operator runs "helpdesk departments add Billing"
    Then the command says "created department Billing"
    When the operator runs "helpdesk teams add Invoices --department billing"
    Then the command says "created team Invoices in Billing"
    And the team list reads:
      | name     | department | active |
      | Invoices | Billing    | yes    |

  Scenario: Adding an agent to a team
    Given the operator has added the department "Billing" with the team "Invoices"
    When the operator adds the agent "Ann" with the email "ann@example.com" to the team "Invoices", giving a good password on standard input
    Then the command says "created agent ann@example.com"
    And the staff list reads:
      | email            | role  | department | team     |
      | root@example.com | admin | -          | -        |
      | ann@example.com  | agent | Billing    | Invoices |
    And "ann@example.com" can log in to the web with that password, as an agent

  Scenario Outline: Lists in JSON for scripts are the documents of the web API
    Given the operator has added the department "Billing" with the team "Invoices"
    And the operator has added the agent "Ann" with the email "ann@example.com" to the team "Invoices"
    When the operator runs "helpdesk <list> list --json"
    Then the command prints the same documents as the web API's list of <list>

    Examples:
      | list        |
      | departments |
      | teams       |
      | staff       |

  Scenario: A staff member in JSON names the department and team by their ids
    Given the operator has added the department "Billing" with the team "Invoices"
    And the operator has added the agent "Ann" with the email "ann@example.com" to the team "Invoices"
    When the operator runs "helpdesk staff list --json"
    Then the JSON shows "ann@example.com" as an active agent of "Billing", in the team "Invoices"

  Scenario Outline: A refused change leaves the organization as it was
    Given the operator has added the department "Billing" with the team "Invoices"
    When the operator tries "helpdesk <command>"
    Then the command fails with one line that says "<cause>"
    And nothing in the database has changed

    Examples:
      | command                                  | cause                                                  |
      | departments add BILLING                  | a department named 'Billing' already exists            |
      | teams add invoices --department Billing  | the department has a team named 'Invoices'             |
      | teams add Refunds --department Shipping  | no department named 'Shipping'                         |
      | staff deactivate root@example.com        | the last active administrator cannot be removed        |
      | staff set-role root@example.com agent    | the last active administrator cannot be removed        |
