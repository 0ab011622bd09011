"""The shared steps of the exact-resume tests (save mid-training, load, continue)."""
import fastnn


def straight_and_saved_half(make, X, y, epochs, path, **fit):
    """The pieces of an exact-resume test: (a model from `make()` trained `epochs`
    epochs straight, one trained `epochs // 2` epochs, saved to `path`, and that file
    loaded back).  Training the loaded one the remaining epochs must give the
    straight model's weights bit for bit."""
    straight = make()
    straight.fit(X, y, epochs=epochs, verbose=0, **fit)
    half = make()
    half.fit(X, y, epochs=epochs // 2, verbose=0, **fit)
    half.save(path)
    return straight, half, fastnn.load_model(path)
