"""`python -m kmvae.reproduction --runs DIR`: writes REPRODUCTION.md (see `kmvae.reproduction`)."""

import sys

from kmvae.reproduction import main

sys.exit(main())
