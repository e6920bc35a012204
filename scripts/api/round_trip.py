"""One round trip through the Python client generated from the OpenAPI document: register,
log in, create an account, read the overview. Run by scripts/api/client.sh.

Usage: python round_trip.py BASE_URL
"""

import sys

from nestegg_client import AuthenticatedClient, Client
from nestegg_client.api.accounts import create_account
from nestegg_client.api.auth import login, register
from nestegg_client.api.reports import get_overview
from nestegg_client.models import (
    AccountDto,
    AccountType,
    LoginBody,
    NewAccountBody,
    OverviewDto,
    RegisterBody,
    RegisteredDto,
    TokenDto,
)

base = sys.argv[1]
password = "correct horse battery staple"
anonymous = Client(base_url=base, raise_on_unexpected_status=True)

registered = register.sync(
    client=anonymous,
    body=RegisterBody(email="client@example.com", username="client", password=password),
)
assert isinstance(registered, RegisteredDto), registered
assert registered.user.username == "client"

tokens = login.sync(client=anonymous, body=LoginBody(login="client", password=password))
assert isinstance(tokens, TokenDto), tokens
me = AuthenticatedClient(base_url=base, token=tokens.access_token, raise_on_unexpected_status=True)

account = create_account.sync(
    client=me,
    body=NewAccountBody(
        name="Everyday checking",
        type_=AccountType.CHECKING,
        current_balance="1234.56",
        currency="USD",
    ),
)
assert isinstance(account, AccountDto), account
assert account.current_balance == "1234.56", account.current_balance

overview = get_overview.sync(client=me)
assert isinstance(overview, OverviewDto), overview
assert overview.net_worth == "1234.56", overview.net_worth
assert [a.id for a in overview.accounts] == [account.id]
print(f"round trip through the generated client: net worth {overview.net_worth} {overview.base_currency}")
