from mdaug.cli import main

main()
