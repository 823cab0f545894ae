from figures.cli import main

main()
