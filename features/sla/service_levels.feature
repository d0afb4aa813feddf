Feature: Service levels on tickets
  A policy promises customers times: a first response, a next response whenever they wait
  for one, and a resolution. The clock counts business time on the policy's calendar; only a
  public reply by the staff answers the customer, and waiting for the customer stops the clock.
  Times are Berlin times; 4 December 2026 is a Friday.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Lena is a lead in "Billing"
    And Ann has registered
    And the calendar "Office" in "Europe/Berlin", open Monday to Friday 09:00-17:00
    And the policy "Standard" on "Office": normal tickets get a first response within 240 minutes, a next response within 60 minutes and a resolution within 480 minutes

  Scenario: A ticket opened late on a Friday is answered by Monday noon
    Given it is Friday 4 December 2026, 16:00 in Berlin
    When Ann opens a ticket "Printer" for "Billing"
    Then the first response of "Printer" is due on Monday 7 December 2026, 12:00
    And the resolution of "Printer" is due on Monday 7 December 2026, 16:00

  Scenario: An internal note is no answer, a public reply is
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    When it is Monday 7 December 2026, 09:30 in Berlin
    And Dan leaves the internal note "Checking the logs" on "Printer"
    Then the first response of "Printer" is running
    When Dan replies "Please restart it" to "Printer"
    Then the first response of "Printer" was met on Monday 7 December 2026, 09:30

  Scenario: The next response starts when the customer writes again
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    And Dan has replied "Please restart it" to "Printer"
    When it is Monday 7 December 2026, 16:30 in Berlin
    And Ann replies "It still jams" to "Printer"
    Then the next response of "Printer" is due on Tuesday 8 December 2026, 09:30

  Scenario: Waiting for the customer stops the clock
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    And Lena has looked at "Printer"
    When it is Monday 7 December 2026, 10:00 in Berlin
    And Lena sets the status of "Printer" to "pending"
    Then the resolution of "Printer" is paused
    When it is Monday 7 December 2026, 12:00 in Berlin
    And Ann replies "Here is the receipt" to "Printer"
    Then the resolution of "Printer" is due on Tuesday 8 December 2026, 11:00

  Scenario: An urgent ticket keeps the time it already took
    Given the policy "Standard" also gives urgent tickets a resolution within 120 minutes
    And it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    And Lena has looked at "Printer"
    When it is Monday 7 December 2026, 10:00 in Berlin
    And Lena sets the priority of "Printer" to "urgent"
    Then the resolution of "Printer" is due on Monday 7 December 2026, 11:00
