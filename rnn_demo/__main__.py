import sys

from rnn_demo.cli.main import main

sys.exit(main())
