from deploy.fab import collection

ns = collection(__file__)  # the toolkit's tasks; fabric.yaml beside this file is checked first
