Feature: Names, subjects and file names show what they are
  A subject or a name is one line of visible text: no line breaks (which could break the mail
  that quotes it), no control characters and no invisible formatting characters, such as the
  right-to-left override that makes "invoice<U+202E>fdp.exe" read as "invoiceexe.pdf". A file
  name keeps only its last segment, whatever slash separates the segments (the fullwidth and
  the division slash look like "/"), and loses its invisible characters.

  In these stories a character written as {U+XXXX} stands for that Unicode character.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Ann has registered

  Scenario Outline: A subject is one line of visible text
    When Ann tries to open a ticket for "Billing" with the subject "<subject>"
    Then Ann is told the subject <reason>

    Examples:
      | subject              | reason                                                                           |
      | Charged{U+000A}twice | must be a single line (no line breaks)                                           |
      | Charged{U+2028}twice | must be a single line (no line breaks)                                           |
      | Charged{U+202E}twice | must not contain invisible formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE) |
      | Charged{U+200B}twice | must not contain invisible formatting characters (U+200B ZERO WIDTH SPACE)       |

  Scenario: A display name is one line of visible text
    When Ann tries to change her display name to "Ann{U+202E}nimda"
    Then Ann is told the display name must not contain invisible formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE)

  Scenario Outline: An attachment keeps the last segment of its name, whatever the slash
    When Ann opens a ticket for "Billing" attaching a file named "<sent>"
    Then the ticket's attachment is named "<kept>"

    Examples:
      | sent                       | kept           |
      | reports/2024/invoice.pdf   | invoice.pdf    |
      | reports{U+FF0F}invoice.pdf | invoice.pdf    |
      | reports{U+2215}invoice.pdf | invoice.pdf    |
      | invoice{U+202E}fdp.exe     | invoicefdp.exe |
