Feature: Slow clients cannot exhaust the server
  A client that sends its request a byte at a time, on a bad link or on purpose to tie the
  server up, holds a connection but none of the server's threads, and only until the read
  deadline (HELPDESK_REQUEST_READ_TIMEOUT): it is then answered 408 Request Timeout and its
  connection is closed. Everyone else is answered as usual meanwhile.

  Scenario: More slow clients than the server has threads
    Given helpdesk serve runs with 1 worker of 2 threads and a read deadline of 2 seconds
    When 6 clients each send a request a byte at a time
    Then a health check is answered within a second, again and again, for 4 seconds
    And every one of those clients is answered "408 Request Timeout"
