from .latency import main

main()
