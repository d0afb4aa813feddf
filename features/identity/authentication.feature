Feature: Accounts, sessions and passwords
  Everybody who uses the helpdesk has an account. Customers open one themselves;
  staff members are given one by an administrator. Logging in with the email address
  and password starts a session, and every session can be ended: by logging out, by
  changing or resetting the password, or by an administrator deactivating a staff member.
  An ended session stops working at once, everywhere.

  Background:
    Given a helpdesk that mails its password reset links

  Scenario: A customer registers and logs in
    When Ann registers with the email address "Ann@Example.com" and a good password
    Then Ann can log in with "ann@example.com" and that password
    And the helpdesk knows Ann as a customer

  Scenario: A wrong password lets nobody in, and says nothing about the account
    Given Ann has registered
    When somebody tries to log in as Ann with a wrong password
    Then they are not let in
    And the refusal is the same as for an address nobody registered

  Scenario: Logging out ends the session at once
    Given Ann has registered
    And Ann is logged in on her laptop
    And Ann is logged in on her phone
    When Ann logs out on her laptop
    Then Ann's session on her laptop no longer works
    But Ann's session on her phone still works

  Scenario: Changing the password ends every other session
    Given Ann has registered
    And Ann is logged in on her laptop
    And Ann is logged in on her phone
    When Ann changes her password on her laptop
    Then Ann's session on her laptop still works
    But Ann's session on her phone no longer works
    And Ann can log in only with her new password

  Scenario: A forgotten password is reset with a link that works once
    Given Ann has registered
    And Ann is logged in on her laptop
    When Ann says she has forgotten her password
    Then Ann receives a link to reset her password
    When Ann chooses a new password through the link
    Then Ann can log in only with her new password
    And Ann's session on her laptop no longer works
    And the link cannot be used a second time

  Scenario: Asking for a reset does not reveal who has an account
    Given Ann has registered
    When somebody asks for a password reset for "nobody@example.com"
    And somebody asks for a password reset for "ann@example.com"
    Then both answers are the same
    But only Ann receives a mail

  Scenario: Repeated wrong passwords make the account wait
    Given Ann has registered
    When somebody tries 5 wrong passwords for Ann's account
    Then even Ann's right password is turned away for now
    And Ann is told how long to wait

  Scenario: A deactivated staff member is locked out at once
    Given the department "Billing"
    And Bob is an agent in "Billing"
    And Bob is logged in on his laptop
    When an administrator deactivates Bob
    Then Bob's session on his laptop no longer works
    And Bob cannot log in any more
