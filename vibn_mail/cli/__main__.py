from vibn_mail.cli import main

main()
