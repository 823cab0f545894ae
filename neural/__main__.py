from neural.cli import main

main()
