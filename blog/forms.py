from django import forms

from .models import Comment


class CommentForm(forms.ModelForm):
    url = forms.URLField(
        label="Website (optional)",
        required=False,
        max_length=200,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "url"}),
    )

    class Meta:
        model = Comment
        fields = ["name", "email", "url", "text"]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name", "maxlength": 50}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "text": forms.Textarea(attrs={"rows": 5}),
        }

    def clean_url(self):
        # URLField already rejects javascript: and data:, keep only web links on top of that.
        url = self.cleaned_data.get("url", "")
        if url and not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// links are allowed.")
        return url
