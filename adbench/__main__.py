from adbench.cli import main

main()
