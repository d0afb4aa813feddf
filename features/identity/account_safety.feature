Feature: Nothing a stranger asks reveals an account, floods an inbox or outlives a lockout
  Registering and asking for a reset answer the same whether or not an address has an
  account; only its owner learns, by mail, that someone tried. The routes that hash a password
  or send a mail are limited, and say how long to wait. A reset link dies when its account is
  deactivated or its password changes, and an address must be one plain mailbox, so that no
  mail ever goes to somebody else.

  Background:
    Given a helpdesk that mails its password reset links

  Scenario: Registering an address that has an account reveals nothing and tells its owner
    Given Ann has registered
    When somebody registers with Ann's address and another password
    Then the answer is the same as Ann's own registration got
    And that other password opens no account
    And Ann receives a mail saying someone tried to register with her address

  Scenario: An address that would mail somebody else is refused
    When somebody registers with the email address "a,b@cust.example.com"
    Then the registration is refused, naming the email address

  Scenario: Reset links for one address are limited, registered or not
    Given Ann has registered
    When somebody asks for a password reset for "ann@example.com" 3 times
    And somebody asks for a password reset for "ann@example.com"
    Then the request is turned away for now, with how long to wait
    And Ann receives 3 mails

  Scenario: A reset link asked for before a deactivation dies with it
    Given the department "Billing"
    And Bob is an agent in "Billing"
    When Bob says he has forgotten his password
    Then Bob receives a link to reset his password
    When the administrator deactivates Bob
    And the administrator reactivates Bob
    Then the link no longer works

  Scenario: A deactivated staff member gets no reset link
    Given the department "Billing"
    And Bob is an agent in "Billing"
    When the administrator deactivates Bob
    And Bob says he has forgotten his password
    Then nobody receives a mail

  Scenario: Changing the password kills the reset links
    Given Ann has registered
    And Ann is logged in on her laptop
    When Ann says she has forgotten her password
    Then Ann receives a link to reset her password
    When Ann changes her password on her laptop
    Then the link no longer works

  Scenario: A stolen session cannot guess the password
    Given Ann has registered
    And Ann is logged in on her laptop
    When somebody holding Ann's laptop session tries 5 wrong current passwords
    Then even Ann's right current password is turned away for now
