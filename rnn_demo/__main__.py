import sys

from rnn_demo.cli import main

sys.exit(main())
