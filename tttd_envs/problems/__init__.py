"""One module per problem family: the problem card(s) and the environment class(es)."""
