"""GraphQL: another door into the same selectors and services (docs/graphql.md)."""
