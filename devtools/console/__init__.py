"""The local console: `make local`'s page in the browser (a phone to text the stack from, the flow of each
message, the registry, the dead letters). A developer tool: served on 127.0.0.1 by the local stack's own process,
never deployed. `server.Console` runs it; `observe` hooks it into the functions; `app` serves the pages."""
