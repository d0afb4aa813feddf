Feature: The REST API inside the host program's own web app
  The shop can serve the helpdesk's REST API from its own WSGI app, so its customers reach
  their tickets at the shop's address, signed in the shop's way. `desk.wsgi_app(identify)`
  is the API as a WSGI app; `identify(environ)` is the shop's function that says who calls,
  from whatever the shop's sign-in left in the request (here the header `X-Shop-User`, which
  the shop's front end sets), returning the account (as `ensure_customer` gave it) or None.
  `helpdesk.mount(shop_app, "/support", api)` sends every request under `/support` to the
  API and every other one to the shop's own app, so the API's paths become
  `/support/api/v1/...`.

  A call `identify` names nobody for is answered 401. A named caller has exactly the scope
  the account has. The shop signs its users in, so the API's own token login is not served.

  Background:
    Given the shop has opened a helpdesk in memory
    And the shop has made its users known to the helpdesk:
      | shop id | name | email           | role     | department |
      | user-42 | Ann  | ann@example.com | customer |            |
      | user-43 | Bea  | bea@example.com | customer |            |
    And the shop serves the helpdesk's API under "/support", knowing who calls by the header "X-Shop-User"

  Scenario: The shop's own pages are still the shop's
    When a browser asks the shop for "/basket"
    Then the shop's own app answers

  Scenario: A call the shop has not identified is turned away
    When a browser without the shop's header asks for "/support/api/v1/me"
    Then the API answers 401

  Scenario: A customer sees their own ticket, and another customer's does not exist for them
    Given the shop, acting as Ann, has opened the ticket "Parcel never arrived"
    When Ann's browser asks the API for the ticket "Parcel never arrived"
    Then the API answers 200 with the ticket "Parcel never arrived"
    When Bea's browser asks the API for the ticket "Parcel never arrived"
    Then the API answers 404, saying "no such ticket"

  Scenario: A ticket opened through the API is the one the library sees
    When Ann's browser opens the ticket "Wrong size" through the API
    Then the API answers 201 with the ticket "Wrong size"
    And the shop, acting as Ann, lists the tickets "Wrong size"

  Scenario: The API's own login is not there: the shop signs its users in
    When a browser sends an email and a password to "/support/api/v1/auth/login"
    Then the API answers 404
