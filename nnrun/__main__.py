if __name__ == "__main__":
    # Imported here, not above: a sweep's worker processes (forked by multiprocessing's fork server)
    # import this module again as `__mp_main__`, and have no use for the command line's modules.
    from nnrun.cli.app import entry

    entry()
