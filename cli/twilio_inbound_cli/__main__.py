"""python -m twilio_inbound_cli: the same as the twilio-inbound command."""

import sys

from twilio_inbound_cli.main import main

sys.exit(main())
