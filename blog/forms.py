from django import forms

from .models import Comment


class CommentForm(forms.ModelForm):
    class Meta:
        model = Comment
        fields = ["name", "email", "url", "text"]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name", "maxlength": 50}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "url": forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "url"}),
            "text": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {"url": "Website (optional)"}

    def clean_url(self):
        # URLField already rejects javascript: and data:, keep only web links on top of that.
        url = self.cleaned_data.get("url", "")
        if url and not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http:// and https:// links are allowed.")
        return url
