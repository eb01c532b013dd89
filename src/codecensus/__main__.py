from codecensus.entry import main

main()
