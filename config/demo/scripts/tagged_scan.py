# A hand-written script with no imports: comment tags give it pause points and progress.
import time

for step in range(5):
    # pause
    time.sleep(0.2)
    print("step", step)
# progress 100%
