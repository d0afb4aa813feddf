Feature: Preparing the database from the terminal
  Before the helpdesk can serve anyone, its database needs the helpdesk's tables. The
  operator migrates it with `helpdesk db upgrade`: once when installing, and again after
  each upgrade of the helpdesk, which may bring new migrations. `helpdesk db check` tells
  whether a database is ready for this version of the helpdesk, so a deployment can run it
  before starting the servers and stop when the answer is no.

  Scenario: Migrating a new database
    Given a new, empty database file
    When the operator runs "helpdesk db upgrade"
    Then the command says the database is at the newest revision
    And checking the database says it is in sync with the helpdesk's schema

  Scenario: Migrating an up-to-date database again changes nothing
    Given a database the operator has migrated
    When the operator tries "helpdesk db upgrade"
    Then the command says the database is at the newest revision
    And nothing in the database has changed

  Scenario: The check refuses a database that was never migrated
    Given a new, empty database file
    When the operator tries "helpdesk db check"
    Then the command fails with one line that says "run `helpdesk db upgrade`"
    And nothing in the database has changed
