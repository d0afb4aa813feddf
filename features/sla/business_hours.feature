Feature: Business hours
  A service-level promise counts only the time the support team works: the working hours of a
  calendar, in its time zone, without its holidays. Before a policy counts on a calendar, an
  administrator can ask it when a number of business minutes after a moment runs out. Times
  are local times of the calendar's zone; 4 December 2026 is a Friday.

  Background:
    Given a helpdesk with an administrator
    And the calendar "Office" in "Europe/Berlin", open Monday to Friday 09:00-17:00

  Scenario: Friday afternoon plus four business hours is Monday noon
    When the administrator asks "Office" for 240 business minutes after Friday 4 December 2026, 16:00
    Then the business time runs out on Monday 7 December 2026, 12:00

  Scenario: A holiday does not count
    Given "Office" is closed on Monday 7 December 2026 for "Staff day"
    When the administrator asks "Office" for 240 business minutes after Friday 4 December 2026, 16:00
    Then the business time runs out on Tuesday 8 December 2026, 12:00

  Scenario: A lunch break does not count
    Given the calendar "Shop" in "Europe/Berlin", open Monday to Friday 09:00-12:30 and 13:30-17:00
    When the administrator asks "Shop" for 240 business minutes after Monday 7 December 2026, 10:00
    Then the business time runs out on Monday 7 December 2026, 15:00

  Scenario: Time asked for on a Saturday counts from Monday morning
    When the administrator asks "Office" for 60 business minutes after Saturday 5 December 2026, 10:30
    Then the business time runs out on Monday 7 December 2026, 10:00

  Scenario: The hour the clocks skip in spring is no business time
    Given the calendar "Night desk" in "Europe/Berlin", open every day 00:00-24:00
    When the administrator asks "Night desk" for 120 business minutes after Sunday 29 March 2026, 01:00
    Then the business time runs out on Sunday 29 March 2026, 04:00

  Scenario: The hour the clocks repeat in autumn is worked twice
    Given the calendar "Night desk" in "America/New_York", open every day 00:00-24:00
    When the administrator asks "Night desk" for 120 business minutes after Sunday 1 November 2026, 00:30
    Then the business time runs out on Sunday 1 November 2026, 01:30

  Scenario: Overlapping hours are refused
    When the administrator tries to make the calendar "Broken" in "Europe/Berlin", open Monday to Friday 09:00-13:00 and 12:00-17:00
    Then the administrator is told that "intervals.1" overlaps another interval
