from domosec.cli.app import main

main()
