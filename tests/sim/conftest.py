import os
import sys

# shared helper modules of this folder (deploy_helpers) importable under --import-mode=importlib
sys.path.insert(0, os.path.dirname(__file__))
