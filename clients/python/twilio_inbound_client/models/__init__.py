"""Models generated from the stack's JSON Schemas (schemas/) by datamodel-code-generator: `make generate` writes
them, `make test` fails when they differ from a fresh generation. Do not edit the modules beside this one."""
