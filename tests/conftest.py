"""The suite's fixtures, each concern in a module of its own: the backend and the tests it can run
(``tests.suite_target``), the system under test (``tests.system_under_test``), its AWS clients
(``tests.aws_clients``) and Cognito users (``tests.accounts``). Polls and bus captures are plain
functions in ``tests.polling`` and ``tests.bus_capture``.
"""

pytest_plugins = [
    "tests.suite_target",
    "tests.system_under_test",
    "tests.aws_clients",
    "tests.accounts",
]
