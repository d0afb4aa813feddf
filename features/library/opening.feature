Feature: Opening a helpdesk from Python
  `helpdesk.open(...)` gives the program a helpdesk to work with, and `desk.close()` (or a
  `with` block) releases it. It takes a database URL: `"memory://"` keeps everything in the
  process and nothing after it, `"sqlite:///path/support.db"` keeps it in a file, and
  `"postgresql+psycopg://..."` in PostgreSQL. Or it takes `helpdesk.Settings(...)`, the very
  settings the server reads from its `HELPDESK_*` variables, built in code.

  Opening brings the database to the helpdesk's newest schema first (for `Settings`, when
  `auto_migrate=True`), under the same lock the server takes, so a new file is ready at once
  and an upgraded helpdesk migrates the data it already has. Settings built in code are
  checked exactly as the environment's would be: a value the server would refuse to start
  with is refused with a `helpdesk.ConfigError` naming the variable, before anything opens.

  Scenario: A new SQLite file is made ready on open, and keeps what the helpdesk holds
    Given the shop's data folder has no "support.db" yet
    When the shop opens a helpdesk on the SQLite file "support.db" in its data folder
    Then "support.db" holds the helpdesk's tables, at a recorded schema revision
    When the shop ensures its customer "user-42", Ann, with the email "ann@example.com"
    And the shop, acting as Ann, opens the ticket "Parcel never arrived"
    And the shop closes the helpdesk and opens it again on the same file
    Then the shop, acting as Ann, lists the tickets "Parcel never arrived"

  Scenario Outline: Settings built in code are refused as the environment would refuse them
    When the shop opens a helpdesk with helpdesk.Settings(<settings>)
    Then opening fails with a ConfigError naming <variable>

    Examples:
      | settings                          | variable              |
      | workers=0                         | HELPDESK_WORKERS      |
      | env="prod"                        | HELPDESK_ENV          |
      | database_url="ftp://example.com"  | HELPDESK_DATABASE_URL |
      | env="production", secret_keys=()  | HELPDESK_SECRET_KEYS  |
