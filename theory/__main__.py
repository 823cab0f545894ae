from theory.cli import main

main()
