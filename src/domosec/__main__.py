from domosec.cli.entry import main

main()
