Feature: Customer accounts, administered
  Customers open their own accounts; administrators look after them. An administrator can
  list and look up customers, deactivate an account (its sessions end at once) and
  reactivate it, erase a customer's personal data when they ask for it (their tickets stay
  readable), and lift a login lockout.

  Repeated wrong passwords lock the account they were tried for, not everybody who shares
  the same network address: an office behind one address keeps working when one person
  mistypes their password.

  Background:
    Given a helpdesk with an administrator

  Scenario: One person's wrong passwords do not lock out their colleagues
    Given Ann has registered
    And Bea has registered
    When somebody tries 5 wrong passwords for Ann's account
    Then even Ann's right password is turned away for now
    But Bea can still log in from the same address
    And the administrator can still log in from the same address

  Scenario: An administrator lifts a lockout
    Given Ann has registered
    When somebody tries 5 wrong passwords for Ann's account
    And the administrator unlocks Ann's account
    Then Ann can log in again

  Scenario: An administrator finds customers by part of their email
    Given Ann has registered
    And Anton has registered
    And Bea has registered
    When the administrator looks for customers whose email contains "an"
    Then the administrator finds Ann and Anton
    And no staff member is among the customers

  Scenario: A deactivated customer is locked out at once, until reactivated
    Given Ann has registered
    And Ann is logged in on her laptop
    When the administrator deactivates Ann's customer account
    Then Ann's session on her laptop no longer works
    And Ann cannot log in
    When the administrator reactivates Ann's customer account
    Then Ann can log in again

  Scenario: Erasing a customer's personal data keeps their tickets
    Given the department "Billing"
    And Ann has registered
    And Ann has opened a ticket "Invoice missing" for "Billing"
    When the administrator erases Ann's personal data
    Then nobody can find Ann's name or email address any more
    And Ann cannot log in
    And the ticket "Invoice missing" can still be read, from an erased customer
    And the history of "Invoice missing" records the erasure
    And a "user.erased" event is recorded, without Ann's name or email address
