"""`twilio-inbound`: the operator command for a deployed stack (by --stack-name) or the local one."""
