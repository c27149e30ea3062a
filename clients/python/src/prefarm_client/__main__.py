"""`python -m prefarm_client …` is the `prefarm` command."""

from prefarm_client.cli import main

main()
