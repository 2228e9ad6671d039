from lintcap.cli import main

main()
