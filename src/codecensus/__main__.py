from codecensus.cli import main

main()
